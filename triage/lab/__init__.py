"""Lab scale: devices queued to Celery workers (Redis), records in one shared PostgreSQL database.

submit.py queues a device; worker.py runs Celery workers whose task (tasks.py → examine.py) calls
triage.run.pipeline.run for it, and whose second task does a chunk of a device's photos (media.py);
schemas.py gives each device its own schema; migrate.py and migrations/ keep the schemas current with
Alembic; status.py shows the queue; services.py starts throwaway servers for the demo, tests and benchmark.
README "Lab deployment" describes a real installation.
"""
