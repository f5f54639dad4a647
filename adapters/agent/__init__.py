"""``hacore agent``: the runtime on a real node.

Configuration, the decision loop, the peer channel and the operator surface.
"""
