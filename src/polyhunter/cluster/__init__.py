"""Scale-out: workers, follower partitions and their leases, the signal stream, membership."""
