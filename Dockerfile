# Meridian: multi-stage build. Stage 1 builds the runnable jar with Maven; stage 2 runs it on a slim JRE as a
# non-root user. Build: docker build -t meridian .   Run: docker run -v $PWD/meridian.yaml:/etc/meridian/meridian.yaml meridian
# Base images pinned by version (a rebuild gets the same JDK, whose version the ./meridian script reads for its
# flags); bump them deliberately.
FROM maven:3.9.9-eclipse-temurin-17 AS build
WORKDIR /src
# Resolve dependencies in their own layer so source edits don't re-download the world.
COPY pom.xml .
COPY config/pom.xml config/
COPY core/pom.xml core/
COPY etcd/pom.xml etcd/
COPY geodns/pom.xml geodns/
COPY l7-proxy/pom.xml l7-proxy/
COPY health-checker/pom.xml health-checker/
COPY failover-controller/pom.xml failover-controller/
COPY launcher/pom.xml launcher/
RUN mvn -B -ntp -q dependency:go-offline -DexcludeReactor=true || true
COPY . .
RUN mvn -B -ntp -q -DskipTests package

FROM eclipse-temurin:17.0.15_6-jre
RUN groupadd --system meridian && useradd --system --gid meridian --home /var/lib/meridian --create-home meridian
# the jar where the ./meridian script looks for it: the script adds the JVM flags (native UDP on Java 17, and the
# memory bounds of docs/CONFIG.md#sizing-the-jvm: 256 MB of heap for the four roles this image runs); set
# MERIDIAN_JAVA_OPTS (docker run -e) to replace the latter
COPY --from=build /src/launcher/target/meridian.jar /opt/meridian/launcher/target/meridian.jar
COPY meridian /opt/meridian/meridian
COPY config/meridian.example.yaml /etc/meridian/meridian.yaml
USER meridian
WORKDIR /var/lib/meridian
# DNS (UDP+TCP), proxy, DNS/proxy/checker ops, controller admin API. Bind 53 in the container as non-root by
# listening on 8053 and publishing -p 53:8053/udp -p 53:8053/tcp.
EXPOSE 8053/udp 8053/tcp 8080/tcp 9153/tcp 9180/tcp 9190/tcp 9090/tcp
# Healthy when every role this image runs answers /healthz on its ops port (the bundled config's, which are the
# documented defaults); curl comes with the Temurin image.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD for port in 9153 9180 9190 9090; do curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" || exit 1; done
ENTRYPOINT ["/opt/meridian/meridian", "run"]
CMD ["--config", "/etc/meridian/meridian.yaml"]
