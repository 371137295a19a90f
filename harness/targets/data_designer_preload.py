"""Imported by the fork server before it forks children for a DataDesigner target, so a
child that will be SIGKILLed does not pay DataDesigner's one-second import. The engine
variable was set by the target before the server started."""

from harness.targets.data_designer import _data_designer

_data_designer()
