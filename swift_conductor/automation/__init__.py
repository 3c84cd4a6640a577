"""Running workers: the per-process task loop and the WorkerHost that supervises processes."""
