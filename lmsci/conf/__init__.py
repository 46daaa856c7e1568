"""The config sections (one frozen dataclass each, checking its own fields) and the checks that
read the disk; :mod:`lmsci.config` assembles them into the one typed tree and re-exports every name."""
