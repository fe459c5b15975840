"""The RIS domain: models, services, selectors, states, records, exceptions, roles.

It knows no wire format and imports no door (`hl7`, `worklist`, `fhir`, `web`).
"""
