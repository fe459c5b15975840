"""The REST door (DRF): decode, call one service, encode."""
