"""The conformance suite: `pytest --pyargs harness.suite` checks the target named by
`--resume-target` (default: the installed DataDesigner, else the reference) capability by
capability, one test each, so a fork sees exactly which one is broken. Failures that an
entry of the shipped findings ledger explains are expected failures, each named."""
