"""FHIR door. fhir.resources installs a regular package called `fhir`;
extending __path__ keeps `import fhir.resources` working inside the project.
"""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
