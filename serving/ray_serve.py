"""Replicated serving on Ray Serve: N replicas of the FastAPI app behind Ray's HTTP proxy.

Each replica is a Serve deployment wrapping ``create_app(settings)`` with ``serve.ingress`` (the
app is built on the replica, from a builder function, so every replica loads the bundle once in
the app's own lifespan, as ``triage serve`` does): the same routes, validation, errors and
``/readyz`` as one process, whatever ``create_app`` wires. Ray's proxy spreads requests over the
replicas; capacity scales with the replica count (``--replicas`` or ``num_replicas`` in
``deploy/serve.yaml``).

Replicas share the database named in the settings. With SQLite that means one machine (Ray on a
single node); replicas on several nodes share a PostgreSQL (``database: postgresql://...``) and a
bundles folder (``bundles_dir``), and each follows the database's change log.
"""

from __future__ import annotations

import logging
from typing import Any

from serving.settings import Settings, load_settings

logger = logging.getLogger(__name__)

DEPLOYMENT = "triage"
APPLICATION = "triage"


def application(settings: Settings, replicas: int = 2, replica_cpus: float = 1.0) -> Any:
    """The Serve application: ``replicas`` copies of the project's app, each built on its replica."""
    from ray import serve

    from serving.ray_support import require_ray

    require_ray()

    def build() -> Any:
        from serving.app import create_app

        return create_app(settings)

    # A builder function: evaluated on each replica when it starts (serve.ingress documents it).
    ingress = serve.ingress(build)()
    deployment = serve.deployment(
        name=DEPLOYMENT,
        num_replicas=replicas,
        ray_actor_options={"num_cpus": replica_cpus},
        # Ray's router sends a replica no more than the app admits (its in-flight bound): a request
        # goes to a replica with room instead of being refused (503) by a full one while another idles.
        max_ongoing_requests=settings.in_flight_bound,
        # Loading the models takes a while on a busy machine: give the health check room.
        health_check_timeout_s=120,
    )(ingress)
    return deployment.bind()


def app_builder(args: dict[str, Any]) -> Any:
    """For ``serve run deploy/serve.yaml``: ``args`` may hold ``replicas``, ``replica_cpus``, ``config``
    (a settings YAML file) and ``data_dir``; TRIAGE_* variables apply as for ``triage serve``."""
    known = {"replicas", "replica_cpus", "config", "data_dir"}
    unknown = sorted(set(args) - known)
    if unknown:
        raise ValueError(f"unknown argument(s) {unknown}; known: {', '.join(sorted(known))}")
    from pathlib import Path

    config = Path(args["config"]) if args.get("config") else None
    settings = load_settings(config, data_dir=Path(args["data_dir"]) if args.get("data_dir") else None)
    return application(
        settings, replicas=int(args.get("replicas", 2)), replica_cpus=float(args.get("replica_cpus", 1.0))
    )


def run(settings: Settings, replicas: int, replica_cpus: float, blocking: bool = True) -> Any:
    """Start Serve's HTTP proxy on the settings' host and port and deploy the application."""
    from ray import serve

    serve.start(http_options={"host": settings.host, "port": settings.port})
    return serve.run(
        application(settings, replicas, replica_cpus), name=APPLICATION, route_prefix="/", blocking=blocking
    )
