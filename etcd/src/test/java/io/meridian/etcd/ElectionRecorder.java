package io.meridian.etcd;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/** Records an election's events as readable strings, in the order they were delivered. */
final class ElectionRecorder implements LeaderElection.Listener {
  final List<String> events = new CopyOnWriteArrayList<>();
  volatile long term;

  @Override
  public void elected(long t) {
    term = t;
    events.add("elected");
  }

  @Override
  public void deposed(String reason) {
    events.add("deposed");
  }

  @Override
  public void leaderChanged(Optional<LeaderInfo> leader) {
    events.add("leader=" + leader.map(LeaderInfo::id).orElse("none"));
  }

  boolean saw(String event) {
    return events.contains(event);
  }

  @Override
  public String toString() {
    return events.toString();
  }
}
