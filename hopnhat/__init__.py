"""hopnhat application shell: settings, CLI, HTTP app and embedded services.

Kept import-light on purpose: importing `hopnhat` loads nothing heavy.
"""

__version__ = "0.1.0"
