package io.meridian.geodns.impl;

import io.meridian.core.geo.ClientLocation;
import io.meridian.core.geo.GeoLocator;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Where clients are: the locator part of the per-plan {@link AnswerPipeline.Context} — the GeoIP database with its
 * {@code nets} overrides ({@link GeoLocator}), the per-address {@link LocationCache} in front of it, and the ECS
 * scope tables ({@link EcsScopes}, RFC 7871 §7.2.1) built from the database and the context's plan and zones.
 *
 * <p>One per pipeline, the same object in every context: what changes inside it (a database reload, a scope table
 * built for a newer plan) is versioned, and a query checks those versions against its own context, so a stage
 * never mixes the scope table of one plan with the region chosen from another. Query-path methods take no lock and
 * allocate nothing; tables are built on {@link #SCOPE_WORKER}, never on an event loop or a UDP thread.
 */
final class Locator {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Locator.class);

  /**
   * One background thread for every pipeline's scope tables: a build walks the whole GeoIP database (seconds for
   * GeoLite2 City) and must never run on an event loop or a UDP thread.
   */
  private static final ExecutorService SCOPE_WORKER = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "meridian-ecs-scopes");
    t.setDaemon(true);
    return t;
  });

  private final GeoLocator geo;
  private final LocationCache cache;
  /** ECS scope runs, rebuilt on {@link #SCOPE_WORKER} when the plan, zones or locator change. */
  private volatile EcsScopes scopes;
  private final AtomicBoolean scopesPending = new AtomicBoolean();
  /** The newest context swapped in: what the next table is built for. */
  private volatile AnswerPipeline.Context target;

  Locator(GeoLocator geo) {
    this.geo = geo;
    this.cache = new LocationCache(geo);
  }

  GeoLocator geo() {
    return geo;
  }

  /** Nets overrides, then GeoIP (IPv4 answers cached per address); null when the address is nowhere. */
  ClientLocation locate(byte[] client) {
    return cache.locate(client);
  }

  /** Forgets cached locations (a config change may have changed the {@code nets} overrides). */
  void clearCache() {
    cache.clear();
  }

  /**
   * The widest ECS scope for the query's client (4 or 16 bytes) under the plan its region was chosen from and the
   * zones of {@code ctx}. While a table is being rebuilt after a plan or zone change, the plan-independent location
   * runs answer (still correct); after a database or {@code nets} change, until the new runs are built, the full
   * address length (/32, /128): never wider than the data allows. No allocation, no lock.
   */
  int widestScope(Query q, AnswerPipeline.Context ctx) {
    byte[] client = q.client;
    EcsScopes s = scopes;
    if (s == null || s.locations.geoVersion != (geo == null ? -1 : geo.version())) {
      rebuild();
      return client.length * 8;
    }
    // the plan this query's region was chosen from, and its zones (newer ones may have been swapped in since);
    // after a reload that changed dns.unlocated, until rebuilt: the location runs (unmerged)
    boolean fresh = s.served.plan() == q.plan && s.served.changes() == q.changes && s.authority == ctx.authority()
        && s.unlocated == ctx.settings().unlocated();
    if (!fresh) {
      AnswerPipeline.Context now = target;
      if (now != null && (now.served() != s.served || now.authority() != s.authority
          || s.unlocated != now.settings().unlocated())) {
        rebuild(); // belt and braces: the swap that made it stale scheduled a build already
      }
    }
    return s.scope(client, fresh);
  }

  /** At start-up, like the database's first load: the first answers have their scopes (built on this thread). */
  void start(AnswerPipeline.Context ctx) {
    target = ctx;
    build();
  }

  /** A new context is served: its scope table is built in the background (the previous one answers meanwhile). */
  void follow(AnswerPipeline.Context ctx) {
    target = ctx;
    rebuild();
  }

  /** Schedules a scope table build for the current state, unless one is already waiting to start. */
  void rebuild() {
    if (!scopesPending.get() && scopesPending.compareAndSet(false, true)) {
      SCOPE_WORKER.execute(this::build);
    }
  }

  /** Builds the scope table for the newest context; reuses the location runs while the locator is unchanged. */
  void build() {
    scopesPending.set(false); // first: a change after the reads below schedules another build
    try {
      EcsScopes cur = scopes;
      AnswerPipeline.Context c = target;
      if (c == null) {
        return;
      }
      long version = geo == null ? -1 : geo.version();
      EcsScopes.Locations l = cur != null && cur.locations.geoVersion == version ? cur.locations
          : EcsScopes.Locations.build(geo);
      scopes = EcsScopes.of(l, c.served(), c.authority(), c.settings().unlocated());
    } catch (RuntimeException e) {
      LOG.error("ECS scope table could not be built; scopes stay /32 (/128) or the previous table's", e);
    }
  }

  /** The current scope table (tests, reports). */
  EcsScopes scopes() {
    return scopes;
  }
}
