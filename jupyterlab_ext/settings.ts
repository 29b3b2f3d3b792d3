/** Reading the extension's settings (`schema/plugin.json`) into `ISettings`. */

import { DEFAULT_SETTINGS, ISettings } from './tokens';

function numberIn(value: unknown, fallback: number, min: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= min ? value : fallback;
}

/** Settings from the registry's composite values, with defaults for anything missing or bad. */
export function readSettings(composite: Record<string, unknown>): ISettings {
  return {
    markers: typeof composite.markers === 'boolean' ? composite.markers : DEFAULT_SETTINGS.markers,
    autoRefreshSeconds: numberIn(
      composite.autoRefreshSeconds,
      DEFAULT_SETTINGS.autoRefreshSeconds,
      0
    ),
    verifyTimeoutSeconds: numberIn(
      composite.verifyTimeoutSeconds,
      DEFAULT_SETTINGS.verifyTimeoutSeconds,
      0
    ),
    debounceMs: numberIn(composite.debounceMs, DEFAULT_SETTINGS.debounceMs, 0),
    maxItemsPerGroup: numberIn(composite.maxItemsPerGroup, DEFAULT_SETTINGS.maxItemsPerGroup, 1)
  };
}
