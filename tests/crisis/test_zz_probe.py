import datetime as dt
import time
from portevoix.sandbox import world
from portevoix.crisis.models import HourlyVolume
from .sim import MONDAY, replay_for
import pytest

@pytest.mark.parametrize("intensity", [1.0, 3.0, 10.0])
def test_probe(team, intensity):
    t0 = time.monotonic()
    r = replay_for(team, "calm", seed=3)
    alerts = r.run(MONDAY, MONDAY + dt.timedelta(days=14), dt.timedelta(minutes=15))
    print("calm alerts", [(a.window_end, a.observed, a.expected) for a in alerts], "ingested", r.ingested, time.monotonic() - t0)
    start = MONDAY + dt.timedelta(days=15, hours=13)
    r.run(MONDAY + dt.timedelta(days=14), start, dt.timedelta(minutes=15))
    world.start_crisis(r.account, intensity, "le retard de livraison", at=start)
    alerts = r.run(start, start + dt.timedelta(hours=8), dt.timedelta(minutes=15))
    print(intensity, "crisis alerts", [(a.window_end - start, a.observed, a.expected, a.terms) for a in alerts], time.monotonic() - t0)
