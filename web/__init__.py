"""The HTTP door for people and programs: pages, forms, admin, the REST API,
and the one map from domain refusals to HTTP that pages, API and FHIR share."""
