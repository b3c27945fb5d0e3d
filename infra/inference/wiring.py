"""How inference is put together for a profile: the engine and deployer (Triton in the
cluster, onnxruntime in process when embedded), the breaker around the engine, the
service, and the deployer worker. Cluster parts come from infra/cluster.py, imported only
inside the functions that need them."""

from __future__ import annotations

from collections.abc import Callable

from commands.budgets import BudgetCheck, SpendingMeter
from commands.deployments import DeploymentCommands
from commands.event_store import EventStore
from commands.inference import InferenceService
from commands.inference_ports import InferenceEngine, ModelDeployer
from commands.inference_targets import ModelViews
from commands.inference_types import InferenceLimits, PaidAccess
from commands.metering_ports import UsageMeter
from commands.paid_access import PurchasedAccess
from commands.rate_limits import TokenBuckets
from commands.response_cache import ResponseCache
from domain.clock import Clock
from infra.blobs import FilesystemBlobStore
from infra.inference.breaker import GuardedEngine
from infra.metrics import ObservedMeter
from infra.ratelimit import token_buckets
from infra.resilience import BreakerRegistry, registry_for
from infra.settings import Settings
from infra.stores import open_marketplace, read_stores
from projections.ports import ReadStore
from workers.deployer import Deployer, DeployerWorker


def inference_engine(
    settings: Settings, blobs: FilesystemBlobStore
) -> tuple[InferenceEngine, ModelDeployer | None]:
    """Triton in the cluster (with the deployer only where its repository is configured:
    the `deployer` worker's process); onnxruntime in process when embedded, which is its
    own deployer."""
    if settings.profile == "cluster":
        from infra.cluster import triton_deployer, triton_engine

        deploys = settings.triton_model_repository is not None
        return triton_engine(settings), triton_deployer(settings, blobs) if deploys else None
    from infra.inference.onnx_engine import OnnxRuntimeEngine

    engine = OnnxRuntimeEngine(blobs.path_of, settings.inference_sessions_max_bytes)
    return engine, engine


def inference_service(
    settings: Settings,
    app: EventStore,
    engine: InferenceEngine,
    meter: UsageMeter,
    clock: Clock,
    paid: PaidAccess,
    budgets: BudgetCheck,
    breakers: BreakerRegistry | None = None,
    buckets: TokenBuckets | None = None,
) -> InferenceService:
    guarded = GuardedEngine(engine, breakers or registry_for(settings))
    limits = InferenceLimits(
        max_input_bytes=settings.inference_max_input_bytes,
        max_batch_items=settings.inference_max_batch_items,
        timeout_s=settings.inference_timeout_s,
        calls_per_minute=settings.inference_calls_per_minute,
        free_calls_per_minute=settings.inference_free_calls_per_minute,
        rate_fail_open=settings.rate_limit_inference.fail_open,
    )
    cache = ResponseCache(clock, settings.response_cache_max_bytes, settings.response_cache_ttl_s)
    views = ModelViews(app, settings.inference_model_cache_ttl_s)
    meter = ObservedMeter(meter)  # the inference and usage metrics
    return InferenceService(
        views,
        guarded,
        meter,
        buckets or token_buckets(settings, clock),
        cache,
        clock,
        limits,
        paid,
        budgets,
    )


def standalone_inference(
    settings: Settings,
    clock: Clock,
    closers: list[Callable[[], object]],
    usage: UsageMeter | None = None,
) -> InferenceService:
    """The inference service alone, for a worker that runs jobs: the same entitlement as
    the API's (purchases, subscriptions, budgets), since a job is admitted again as it runs.
    `usage`: the meter to record on (the worker flushes it before a job's result)."""
    from infra.billing_usage.wiring import billing_store, budgets_on
    from infra.stores import postgres_pool
    from infra.usage.wiring import metering

    app = open_marketplace(settings)
    closers.append(app.close)
    engine, _ = inference_engine(settings, FilesystemBlobStore(settings.blob_root()))
    pool = postgres_pool(settings, closers)
    budgets = budgets_on(settings, app, billing_store(settings, pool, closers))
    meter = SpendingMeter(usage or metering(settings, pool, closers), budgets.counter)
    paid = PurchasedAccess(app, clock)
    return inference_service(settings, app, engine, meter, clock, paid, budgets)


def deployer_worker(
    app: EventStore, store: ReadStore, deployer: ModelDeployer, engine_name: str
) -> DeployerWorker:
    return DeployerWorker(app, store, Deployer(DeploymentCommands(app, engine_name), deployer))


def deployer_worker_for_cli(settings: Settings) -> DeployerWorker:
    """`aimarket worker deployer`: follows the event store, deploys onto Triton."""
    from infra.cluster import triton_deployer

    app = open_marketplace(settings)
    store, _ = read_stores(settings)
    deployer = triton_deployer(settings, FilesystemBlobStore(settings.blob_root()))
    return deployer_worker(app, store, deployer, "triton")
