"""Hostile input: no file, request or fault takes nbrepro down, leaks or loses anything."""
