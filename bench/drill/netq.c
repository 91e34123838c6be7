/*
 * netq — packet loss and delay on an NFQUEUE queue, the equivalent of
 * `tc netem delay DELAY JITTER loss LOSS%` for kernels built without sch_netem.
 *
 * The kernel hands every packet that an NFQUEUE rule matched to this program
 * (metadata only, no payload copy) and waits for a verdict on its id. For each
 * packet we draw, like netem, first the loss (drop with probability LOSS/100),
 * then a delay uniform in [DELAY-JITTER, DELAY+JITTER] clamped at 0, and give
 * the ACCEPT verdict when that delay has passed. Verdicts may be given in any
 * order (the kernel looks the packet up by id), so jitter reorders packets as
 * netem does. Held packets wait in a min-heap keyed by release time; the loop
 * sleeps in ppoll() until the next release, the next packet or a signal.
 *
 *   netq --queue NUM --loss PCT --delay MS --jitter MS
 *        [--seed N] [--stats FILE] [--pidfile FILE] [--duration SECONDS]
 *
 * Stats (key=value lines) are rewritten to FILE every second, on SIGUSR1 and at
 * exit. The pid file is written once the queue is bound: the caller waits for
 * it before installing the NFQUEUE rules. SIGTERM/SIGINT, or the end of
 * --duration: the held packets are accepted at once (the impairment ends), then
 * the program exits (later packets bypass the unbound queue).
 *
 * Timing: netem's timers run in the kernel; ours in a process, so a loaded machine can make packets late. The
 * script starts netq with SCHED_FIFO priority 1 where allowed; the hold-time percentiles in the stats (measured
 * from arrival to verdict) show how late they were.
 *
 * Fail-open: the queue is created with NFQA_CFG_F_FAIL_OPEN (a full queue or a
 * failed netlink send accepts the packet instead of dropping it) and the rules
 * use --queue-bypass (no program bound: packets pass). If this program dies,
 * the packets it held are dropped by the kernel (TCP retransmits them) and
 * later ones pass unimpaired: a crash never black-holes the path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h> /* before linux/netfilter.h: glibc and kernel both define in_addr */
#include <linux/netfilter.h> /* NF_ACCEPT, NF_DROP, NF_INET_PRE_ROUTING */
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <libnfnetlink/libnfnetlink.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define QUEUE_MAXLEN 4096       /* packets the kernel may hold for us */
#define RCVBUF (8u << 20)       /* netlink socket buffer: bursts must not overflow it */
#define DRAIN_MAX 64            /* packets read per loop turn */
#define HIST_MS 10000           /* hold-time histogram, 1 ms buckets, last one = ">= 10 s" */

struct held { uint64_t due_ns, arrived_ns; uint32_t id; };

static struct {
    struct held *v; size_t n, cap;
} heap;

static struct nfq_q_handle *qh;
static double loss;             /* probability 0..1 */
static uint64_t delay_ns, jitter_ns;
static uint64_t rng;            /* splitmix64 state: seeded, so runs can be reproduced */
static volatile sig_atomic_t want_stop, want_stats;

static struct {
    uint64_t seen, seen_out, seen_in, dropped, accepted, verdict_errors, recv_errors;
    size_t held_max;
    uint64_t hist[HIST_MS + 1];
} st;

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint64_t next_rand(void) {
    uint64_t z = (rng += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double uniform01(void) { return (double)(next_rand() >> 11) * 0x1.0p-53; }

static void heap_push(struct held h) {
    if (heap.n == heap.cap) {
        heap.cap = heap.cap ? heap.cap * 2 : 1024;
        heap.v = realloc(heap.v, heap.cap * sizeof *heap.v);
        if (!heap.v) { perror("netq: realloc"); exit(1); }
    }
    size_t i = heap.n++;
    while (i && heap.v[(i - 1) / 2].due_ns > h.due_ns) { heap.v[i] = heap.v[(i - 1) / 2]; i = (i - 1) / 2; }
    heap.v[i] = h;
    if (heap.n > st.held_max) st.held_max = heap.n;
}

static struct held heap_pop(void) {
    struct held top = heap.v[0], last = heap.v[--heap.n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= heap.n) break;
        if (c + 1 < heap.n && heap.v[c + 1].due_ns < heap.v[c].due_ns) c++;
        if (heap.v[c].due_ns >= last.due_ns) break;
        heap.v[i] = heap.v[c]; i = c;
    }
    if (heap.n) heap.v[i] = last;
    return top;
}

static void verdict(uint32_t id, int v) {
    if (nfq_set_verdict(qh, id, v, 0, NULL) < 0) st.verdict_errors++;
}

static void release(struct held h, uint64_t now) {
    uint64_t ms = (now - h.arrived_ns) / 1000000u;
    st.hist[ms < HIST_MS ? ms : HIST_MS]++;
    st.accepted++;
    verdict(h.id, NF_ACCEPT);
}

/* Called by nfq_handle_packet for each queued packet. */
static int on_packet(struct nfq_q_handle *q, struct nfgenmsg *m, struct nfq_data *nfa, void *data) {
    (void)q; (void)m; (void)data;
    struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
    if (!ph) return 0;
    uint32_t id = ntohl(ph->packet_id);
    st.seen++;
    if (ph->hook == NF_INET_PRE_ROUTING) st.seen_in++; else st.seen_out++;
    if (loss > 0 && uniform01() < loss) { st.dropped++; verdict(id, NF_DROP); return 0; }
    /* netem's jitter without a distribution table: uniform in [delay - jitter, delay + jitter] */
    double d = (double)delay_ns + (2.0 * uniform01() - 1.0) * (double)jitter_ns;
    uint64_t now = now_ns();
    struct held h = { .due_ns = now + (d > 0 ? (uint64_t)d : 0), .arrived_ns = now, .id = id };
    if (h.due_ns <= now) release(h, now); else heap_push(h);
    return 0;
}

static uint64_t percentile(double p) {
    if (!st.accepted) return 0;
    uint64_t rank = (uint64_t)(p * (double)(st.accepted - 1)) + 1, sum = 0;
    for (int i = 0; i <= HIST_MS; i++) if ((sum += st.hist[i]) >= rank) return (uint64_t)i;
    return HIST_MS;
}

static void write_stats(const char *path, int queue, uint64_t seed, uint64_t started) {
    if (!path) return;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    int maxms = HIST_MS;
    while (maxms > 0 && !st.hist[maxms]) maxms--;
    fprintf(f,
            "queue=%d loss_pct=%.3f delay_ms=%.3f jitter_ms=%.3f seed=%" PRIu64 " uptime_s=%.1f pid=%d\n"
            "seen=%" PRIu64 " seen_out=%" PRIu64 " seen_in=%" PRIu64 " dropped=%" PRIu64 " delayed=%" PRIu64
            " held_now=%zu held_max=%zu verdict_errors=%" PRIu64 " recv_errors=%" PRIu64 "\n"
            "hold_ms_p50=%" PRIu64 " hold_ms_p90=%" PRIu64 " hold_ms_p99=%" PRIu64 " hold_ms_max=%d\n",
            queue, loss * 100, delay_ns / 1e6, jitter_ns / 1e6, seed, (now_ns() - started) / 1e9, getpid(),
            st.seen, st.seen_out, st.seen_in, st.dropped, st.accepted, heap.n, st.held_max,
            st.verdict_errors, st.recv_errors, percentile(.5), percentile(.9), percentile(.99),
            st.accepted ? maxms : 0);
    if (fclose(f) == 0) rename(tmp, path);
}

static void on_signal(int sig) { if (sig == SIGUSR1) want_stats = 1; else want_stop = 1; }

static void usage(void) {
    fprintf(stderr, "usage: netq --queue NUM --loss PCT --delay MS --jitter MS [--seed N] [--stats FILE] [--pidfile FILE]"
                    " [--duration SECONDS]\n");
    exit(2);
}

int main(int argc, char **argv) {
    int queue = -1;
    double loss_pct = 0, delay_ms = 0, jitter_ms = 0, duration_s = 0;
    uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    const char *stats = NULL, *pidfile = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) usage();
        if (!strcmp(a, "--queue")) queue = atoi(v);
        else if (!strcmp(a, "--loss")) loss_pct = atof(v);
        else if (!strcmp(a, "--delay")) delay_ms = atof(v);
        else if (!strcmp(a, "--jitter")) jitter_ms = atof(v);
        else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--stats")) stats = v;
        else if (!strcmp(a, "--pidfile")) pidfile = v;
        else if (!strcmp(a, "--duration")) duration_s = atof(v);
        else usage();
        i++;
    }
    if (queue < 0 || queue > 65535 || loss_pct < 0 || loss_pct > 100 || delay_ms < 0 || jitter_ms < 0 || duration_s < 0) usage();
    loss = loss_pct / 100;
    delay_ns = (uint64_t)(delay_ms * 1e6);
    jitter_ns = (uint64_t)(jitter_ms * 1e6);
    rng = seed;

    struct nfq_handle *h = nfq_open();
    if (!h) { perror("netq: nfq_open"); return 1; }
    qh = nfq_create_queue(h, (uint16_t)queue, on_packet, NULL);
    if (!qh) { fprintf(stderr, "netq: cannot bind queue %d (another program on it?)\n", queue); return 1; }
    /* metadata only: the verdict needs the id, not the payload */
    if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0) { perror("netq: nfq_set_mode"); return 1; }
    if (nfq_set_queue_maxlen(qh, QUEUE_MAXLEN) < 0) perror("netq: nfq_set_queue_maxlen");
    if (nfq_set_queue_flags(qh, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN) < 0)
        perror("netq: fail-open not supported");
    int fd = nfq_fd(h);
    nfnl_rcvbufsiz(nfq_nfnlh(h), RCVBUF);
    /* an overrun of the socket buffer must not turn into an error on every later recv */
    int one = 1;
    setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);

    /* signals are blocked except inside ppoll(), so a signal can never slip between check and sleep */
    sigset_t block, orig;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM); sigaddset(&block, SIGINT); sigaddset(&block, SIGUSR1); sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &orig);
    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGTERM, &sa, NULL); sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL); sigaction(SIGUSR1, &sa, NULL);

    uint64_t started = now_ns(), next_stats = started;
    uint64_t end = duration_s > 0 ? started + (uint64_t)(duration_s * 1e9) : UINT64_MAX;
    if (pidfile) {
        FILE *f = fopen(pidfile, "w");
        if (!f) { perror("netq: pidfile"); return 1; }
        fprintf(f, "%d\n", getpid());
        fclose(f);
    }
    fprintf(stderr, "netq: queue %d loss %.3f%% delay %.3f ms jitter %.3f ms seed %" PRIu64 " duration %.0f s\n",
            queue, loss_pct, delay_ms, jitter_ms, seed, duration_s);

    static char buf[65536] __attribute__((aligned));
    while (!want_stop) {
        uint64_t now = now_ns();
        if (now >= end) break;
        while (heap.n && heap.v[0].due_ns <= now) release(heap_pop(), now);
        if (now >= next_stats || want_stats) {
            write_stats(stats, queue, seed, started);
            want_stats = 0;
            next_stats = now + 1000000000u;
        }
        uint64_t wake = next_stats;
        if (heap.n && heap.v[0].due_ns < wake) wake = heap.v[0].due_ns;
        if (end < wake) wake = end;
        struct timespec ts = { .tv_sec = (time_t)((wake - now) / 1000000000u), .tv_nsec = (long)((wake - now) % 1000000000u) };
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int r = ppoll(&p, 1, &ts, &orig);
        if (r < 0 && errno != EINTR) { perror("netq: ppoll"); break; }
        if (r > 0) {
            /* drain what is queued, one packet per message, but at most DRAIN_MAX before the due packets are
             * released again: a steady stream of arrivals must not make the held ones late */
            for (int k = 0; k < DRAIN_MAX; k++) {
                ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
                if (n < 0) {
                    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
                    st.recv_errors++; /* ENOBUFS: the kernel fails those packets open */
                    break;
                }
                nfq_handle_packet(h, buf, (int)n);
            }
        }
    }
    /* the impairment ends: let the held packets go now rather than leave them to the kernel's flush (a drop) */
    uint64_t now = now_ns();
    while (heap.n) release(heap_pop(), now);
    write_stats(stats, queue, seed, started);
    nfq_destroy_queue(qh);
    nfq_close(h);
    if (pidfile) unlink(pidfile);
    return 0;
}
