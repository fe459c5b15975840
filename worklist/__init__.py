"""DICOM door: Modality Worklist C-FIND SCP, Verification, the `dicomscp` command."""
