"""The sandbox network: a social network that lives in the database (demo and tests).

See ``docs/sandbox.md``. ``service`` holds the calls the network adapter
(``portevoix.networks.sandbox``) makes, ``world`` the simulation of the audience.
"""
