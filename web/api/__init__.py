"""The REST door (DRF): serializers decode, one service call, serializers encode."""
