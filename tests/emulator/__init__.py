"""Tests of the Seedance API emulator, over a real loopback socket."""
