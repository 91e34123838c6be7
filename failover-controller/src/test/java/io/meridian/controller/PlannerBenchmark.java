package io.meridian.controller;

import java.util.Arrays;
import java.util.Locale;

/**
 * Plan computation for 10,000 client zones × 50 regions (issue 6 goal: ≤ 100 ms). Run with
 * {@code bench/controller/planner.sh}. Not a unit test: it asserts nothing and runs only when called.
 *
 * <p>"cold" is the first plan of a fresh planner (distances computed); "warm" is the median of later plans over
 * the same zones, which is what the controller pays every evaluation.
 */
public final class PlannerBenchmark {
  public static void main(String[] args) {
    int zones = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
    int regions = args.length > 1 ? Integer.parseInt(args[1]) : 50;
    int runs = args.length > 2 ? Integer.parseInt(args[2]) : 15;
    System.out.printf(Locale.ROOT, "planner benchmark: %d zones x %d regions, %d warm runs, java %s, %d cpus%n",
        zones, regions, runs, System.getProperty("java.version"), Runtime.getRuntime().availableProcessors());
    System.out.printf(Locale.ROOT, "%-10s %-14s %10s %10s %10s %12s%n", "planner", "capacity", "cold ms",
        "warm p50", "warm max", "shortfall");
    for (String kind : new String[] {"min-cost", "waterfall"}) {
      for (double factor : new double[] {2.0, 1.05, 0.8}) {
        Planner.Input in = PlannerFixtures.random(42, regions, zones, factor);
        // JIT warm-up on a different problem of the same size, so "cold" measures only the distance cache
        Planner warm = kind.equals("min-cost") ? Planner.minCost() : Planner.waterfall();
        for (int i = 0; i < 5; i++) {
          warm.plan(PlannerFixtures.random(7 + i, regions, zones, factor));
        }
        Planner p = kind.equals("min-cost") ? Planner.minCost() : Planner.waterfall();
        long t0 = System.nanoTime();
        Planner.Result r = p.plan(in);
        double cold = (System.nanoTime() - t0) / 1e6;
        double[] ms = new double[runs];
        for (int i = 0; i < runs; i++) {
          long t = System.nanoTime();
          p.plan(in);
          ms[i] = (System.nanoTime() - t) / 1e6;
        }
        Arrays.sort(ms);
        System.out.printf(Locale.ROOT, "%-10s %-14s %10.1f %10.1f %10.1f %12.0f%n", kind,
            String.format(Locale.ROOT, "%.2fx demand", factor), cold, ms[runs / 2], ms[runs - 1], r.shortfallRps());
      }
    }
  }
}
