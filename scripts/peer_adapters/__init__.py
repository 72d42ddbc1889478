"""Thin adapters that map ref_cnn's op signatures onto the APIs of implementations this
project did not write, for `scripts/peers.py` (one module per peer). Each adapter maps
arguments and layouts and nothing more; where a case asks for an option the peer does not
offer, it raises NotImplementedError and the conformance kit counts the case as skipped.
The peers themselves are imported inside the adapters, so these modules load without them.
"""
