/**
 * The contract between the number-crunch image and the manifests that run it.
 *
 * Imported by both sides: the service (`number-crunch/src`) reads its defaults from here, and the cdk8s constructs in
 * `lib/` use the same values for the container port, probes and security context. Tests check that
 * `number-crunch/Dockerfile` (`EXPOSE`, `USER`) says the same thing. The image build copies this directory too (its
 * build context is the repository root; `.dockerignore` admits it).
 */

/** Port the service listens on unless `PORT` is set. */
export const SERVICE_PORT = 8080;

/** Liveness probe path: 200 while the process is alive. */
export const LIVENESS_PATH = '/healthz';

/** Readiness probe path: 200 while serving, 503 once shutdown has begun. */
export const READINESS_PATH = '/readyz';

/** Numeric, non-root user id the image runs as (the `USER` line of the Dockerfile). */
export const IMAGE_USER_ID = 10001;

/** Numeric group id the image runs as. */
export const IMAGE_GROUP_ID = 10001;

/**
 * Longest time, in milliseconds, the service waits for in-flight requests after SIGTERM before it closes the
 * remaining connections and exits. The pod's termination grace period must be longer than this plus any preStop pause.
 */
export const SHUTDOWN_DRAIN_TIMEOUT_MS = 10_000;

/**
 * How long, in milliseconds, a connection that has not sent a single byte is kept open after SIGTERM (at most the
 * drain timeout). Without a limit, one silent connection would hold up the exit for the whole drain timeout. Not
 * zero: a client may have connected just before the listener closed, with its request still on the way, and that
 * request must still be served.
 */
export const SILENT_CONNECTION_GRACE_MS = 1_000;

/** Environment variable with the port to listen on (0 picks a free port, for tests). */
export const PORT_ENV = 'PORT';

/** Environment variable with the address to bind (default: every interface, IPv6 and IPv4). */
export const HOST_ENV = 'HOST';

/** Environment variable overriding SHUTDOWN_DRAIN_TIMEOUT_MS. */
export const DRAIN_TIMEOUT_ENV = 'SHUTDOWN_DRAIN_TIMEOUT_MS';

/** Environment variable: `0` turns the HTTP fast path off (node:http answers everything), for comparison benchmarks. */
export const FAST_PATH_ENV = 'HTTP_FAST_PATH';

/**
 * Port the service serves its Prometheus metrics on unless `METRICS_PORT` is set: a listener of its own, apart from
 * SERVICE_PORT, which is all the proxy forwards. 9464 is the default port of OpenTelemetry's Prometheus exporter.
 */
export const METRICS_PORT = 9464;

/** Path of the Prometheus metrics on METRICS_PORT. */
export const METRICS_PATH = '/metrics';

/** Environment variable with the metrics port (0 picks a free port, for tests). */
export const METRICS_PORT_ENV = 'METRICS_PORT';
