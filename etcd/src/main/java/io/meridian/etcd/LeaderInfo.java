package io.meridian.etcd;

/**
 * Who leads, as the leader key says.
 *
 * @param id    the leader's candidate id
 * @param url   the admin URL it advertises (where followers forward mutating admin calls), or null if it gave none
 * @param term  the create revision of its leader key: unique per leadership, growing with each new leader, and the
 *              revision its writes are fenced on
 */
public record LeaderInfo(String id, String url, long term) {}
