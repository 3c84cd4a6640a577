"""swift-conductor-client: write Conductor task workers in Python."""
