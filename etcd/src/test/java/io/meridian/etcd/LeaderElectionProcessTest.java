package io.meridian.etcd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.meridian.etcd.testing.EtcdTestBed;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A leader in a real child JVM ({@link ElectionChild}) killed with SIGKILL or paused with SIGSTOP past its lease,
 * and a follower in this JVM: the follower takes over once the lease expires, and the paused leader's writes after
 * it resumes are all refused by the fence.
 */
class LeaderElectionProcessTest {
  static final String PREFIX = "/m/controller/";
  // Long enough that a slow keep-alive on a loaded machine does not depose the child before the test pauses it (see
  // LeaderElectionTest.TTL); each test waits it out once.
  static final long TTL_SECONDS = 8;

  @TempDir
  Path dir;
  EtcdTestBed bed;
  Process child;
  final List<String> childOut = new CopyOnWriteArrayList<>();
  LeaderElection follower;

  @BeforeEach
  void start() throws Exception {
    bed = EtcdTestBed.start(dir.resolve("etcd"), Duration.ofSeconds(5));
  }

  @AfterEach
  void stop() throws Exception {
    if (child != null) {
      signal("CONT");
      child.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    if (follower != null) {
      follower.resign().await(10, TimeUnit.SECONDS);
    }
    bed.close();
  }

  /** Starts the child leader, then the follower, once the child leads. */
  ElectionRecorder childLeadsThenFollowerStarts() throws Exception {
    child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), ElectionChild.class.getName(),
        bed.etcd().endpoint(), PREFIX, "child", String.valueOf(TTL_SECONDS))
        .redirectError(dir.resolve("child.log").toFile()).start();
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(),
          StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          childOut.add(line);
        }
      } catch (IOException ignored) {
        // the child was killed
      }
    });
    reader.setDaemon(true);
    reader.start();
    LeaderElectionTest.waitFor(() -> childOut.stream().anyMatch(l -> l.endsWith(" ok")));

    ElectionRecorder events = new ElectionRecorder();
    follower = LeaderElection.create(bed.vertx(), bed.client(), PREFIX, "parent", Duration.ofSeconds(TTL_SECONDS),
        null).listen(events);
    follower.start().await(20, TimeUnit.SECONDS);
    assertEquals("child", follower.leader().orElseThrow().id());
    return events;
  }

  @Test
  void aKilledLeaderIsReplacedOnceItsLeaseExpires() throws Exception {
    ElectionRecorder events = childLeadsThenFollowerStarts();
    long childTerm = follower.leader().orElseThrow().term();

    long killed = System.nanoTime();
    child.destroyForcibly(); // SIGKILL: no resignation, the lease has to expire
    LeaderElectionTest.waitFor(follower::isLeader);
    System.out.printf("takeover after SIGKILL: %d ms (lease TTL %d s)%n",
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killed), TTL_SECONDS);

    assertEquals(List.of("leader=child", "leader=none", "elected", "leader=parent"), events.events);
    assertTrue(events.term > childTerm);
  }

  @Test
  void aPausedLeadersWritesAfterItResumesAreRefused() throws Exception {
    ElectionRecorder events = childLeadsThenFollowerStarts();

    signal("STOP"); // a GC pause or a frozen VM: the child cannot renew its lease, nor learn anything
    LeaderElectionTest.waitFor(follower::isLeader);
    KeyValue lastBeforePause = bed.client().get(PREFIX + "data").await(5, TimeUnit.SECONDS).first();
    int linesAtResume = childOut.size();
    signal("CONT");
    // a snapshot first: a sub-list view of the CopyOnWriteArrayList the reader thread appends to throws
    // ConcurrentModificationException as soon as a line arrives
    LeaderElectionTest.waitFor(() -> linesFrom(linesAtResume).stream()
        .filter(l -> l.contains(" refused ")).count() >= 3);

    List<String> afterResume = linesFrom(linesAtResume);
    // A write etcd committed just before the pause may print its "ok" only after it; every later one is refused.
    long lastLanded = Long.parseLong(lastBeforePause.valueUtf8().substring("child-".length()));
    List<String> later = afterResume.stream().filter(l -> l.startsWith("WRITE")
        && Long.parseLong(l.split(" ")[1]) > lastLanded).toList();
    assertTrue(later.size() >= 3, afterResume.toString());
    assertTrue(later.stream().allMatch(l -> l.endsWith(" refused NotLeaderException")),
        "every write after the pause is refused as NotLeader: " + afterResume);
    assertTrue(afterResume.stream().anyMatch(l -> l.startsWith("DEPOSED")), afterResume.toString());
    KeyValue data = bed.client().get(PREFIX + "data").await(5, TimeUnit.SECONDS).first();
    assertEquals(lastBeforePause.modRevision(), data.modRevision(), "nothing the paused leader wrote landed");
    assertEquals(List.of("leader=child", "leader=none", "elected", "leader=parent"), events.events);
  }

  void signal(String name) throws Exception {
    new ProcessBuilder("kill", "-" + name, String.valueOf(child.pid())).inheritIO().start().waitFor();
  }

  /** The child's output lines from index {@code from} on, as a snapshot. */
  private List<String> linesFrom(int from) {
    List<String> all = List.copyOf(childOut);
    return all.subList(Math.min(from, all.size()), all.size());
  }
}
