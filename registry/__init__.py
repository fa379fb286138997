"""registry: de-identified clinical registries built from REDCap exports."""

__version__ = "0.1.0"
