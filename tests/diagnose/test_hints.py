"""Static hints: cheap ast facts about randomness, the clock, set order and the network."""

from __future__ import annotations

from nbrepro.diagnose.hints import cell_hints, notebook_static


def kinds(sources: list[str]) -> list[list[str]]:
    return [sorted(h.kind for h in cell.hints) for cell in notebook_static(sources)]


def test_unseeded_generators_are_hinted_and_seeded_ones_are_not():
    assert kinds(["import random", "print(random.random())"]) == [[], ["random"]]
    assert kinds(["import random\nrandom.seed(1)", "print(random.random())"]) == [[], []]
    assert kinds(["import numpy as np", "np.random.rand(3)"]) == [[], ["numpy.random"]]
    assert kinds(["import numpy as np", "np.random.seed(0)\nnp.random.rand(3)"]) == [[], []]
    assert kinds(["import numpy as np\nrng = np.random.default_rng()"]) == [["numpy.random"]]
    assert kinds(["import numpy as np\nrng = np.random.default_rng(42)"]) == [[]]
    assert kinds(["import torch\ntorch.randn(2)"]) == [["torch"]]
    assert kinds(["import torch\ntorch.manual_seed(0)\ntorch.randn(2)"]) == [[]]
    assert kinds(["from random import choice\nchoice([1, 2])"]) == [["random"]]


def test_clock_uuid_entropy_and_network_are_hinted_through_aliases():
    hints = cell_hints(
        "import time, uuid, os\nimport datetime as dt\nimport urllib.request as ur\n"
        "t = time.time()\nd = dt.date.today()\nu = uuid.uuid4()\nb = os.urandom(4)\n"
        "ur.urlopen('http://example.org')\n"
    )
    found = {(h.kind, h.what) for h in hints}
    assert ("clock", "time.time") in found and ("clock", "datetime.date.today") in found
    assert ("uuid", "uuid.uuid4") in found and ("entropy", "os.urandom") in found
    assert ("network", "urllib.request.urlopen") in found
    assert ("network", "http://example.org") in found
    assert cell_hints("import time\ntime.localtime(0)\ntime.strftime('%H', time.gmtime(0))") == []


def test_set_order_is_hinted_only_where_it_can_show():
    assert kinds(["s = {'a', 'b', 'c'}", "print(list(s))"]) == [[], ["hash-order"]]
    assert kinds(["s = {'a', 'b'}\nfor x in s:\n    print(x)"]) == [["hash-order"]]
    assert kinds(["{'a', 'b'}"]) == [["hash-order"]]
    assert kinds(["s = {'a', 'b'}\nprint(sorted(s), 'a' in s)"]) == [[]]


def test_ipython_syntax_and_environment_reads():
    static = notebook_static(["%matplotlib inline\nimport os\nmode = os.environ['MODE']"])[0]
    assert static.env_reads == {"MODE"} and "os" in static.modules
    assert [h.kind for h in cell_hints("!curl -O http://example.org/x")] == ["network"]
    assert cell_hints("%%bash\necho hi") == []
