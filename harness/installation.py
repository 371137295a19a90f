"""The installation a chain's first run finds (`Scenario.fresh_home`): one the target was
used on before (the default), or a fresh one, where the first run is the first the
installation makes (DataDesigner: a `DATA_DESIGNER_HOME` whose model defaults its first
`DataDesigner()` writes, after a script may already have built its config).

This module is the dimension's own: how often a search draws it and the strategy. What a
fresh installation is to a target lives in its adapter (DataDesigner:
`harness.targets.data_designer._fresh_installation`, and the reproducer's home of its own,
`harness.targets.data_designer_repro_provider.hermetic_lines`); a target claims it with
`Capabilities.fresh_home` (drawn unless it is `opt_in`: "fresh home"); the coverage table's
row is `installation`; the ledger's signature field `fresh_home`."""

from __future__ import annotations

import functools

from hypothesis import strategies as st

#: one chain in FRESH_HOME_ODDS starts on a fresh installation (and shrinks to not): drawn
#: last in a scenario, so a target that does not draw it draws everything else as before
FRESH_HOME_ODDS = 8


@functools.cache
def fresh_homes() -> st.SearchStrategy[bool]:
    """Whether a chain starts on a fresh installation: True at the odds above."""
    return st.integers(0, FRESH_HOME_ODDS - 1).map(lambda drawn: drawn == FRESH_HOME_ODDS - 1)
