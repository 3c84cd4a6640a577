"""The worker side: WorkerAbc, Worker, input binding, settings resolution and the registry."""
