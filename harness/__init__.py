"""resume-harness: property-based checks that a resumed run equals an uninterrupted one."""

__version__ = "0.1.0"
