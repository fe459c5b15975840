"""The DICOMweb worklist services of the DICOM door (PS3.18): MWL-RS search,
MPPS-RS, and the capability statement, served at /dicomweb/ by the same
query, response plan and MPPS services as the DIMSE side."""
