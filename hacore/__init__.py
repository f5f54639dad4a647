"""hacore: the pure core of an active/standby HA cluster (standard library only)."""
