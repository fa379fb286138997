"""Fully synthetic REDCap exports of the registry's project, for tests, demos and benchmarks.

``python -m sample_data.generate --patients N --seed S --out FILE [--labels] [--dirty] [--phi]``
writes one export; ``python -m sample_data.generate --bundled`` regenerates the files committed
in this folder. Nothing here comes from a real patient.
"""
