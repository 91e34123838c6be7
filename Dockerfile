# Meridian: multi-stage build. Stage 1 builds the runnable jar with Maven; stage 2 runs it on a slim JRE as a
# non-root user. Build: docker build -t meridian .   Run: docker run -v $PWD/meridian.yaml:/etc/meridian/meridian.yaml meridian
FROM maven:3.9-eclipse-temurin-17 AS build
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

FROM eclipse-temurin:17-jre
RUN groupadd --system meridian && useradd --system --gid meridian --home /var/lib/meridian --create-home meridian
# the jar where the ./meridian script looks for it: the script adds the JVM flags (native UDP on Java 17)
COPY --from=build /src/launcher/target/meridian.jar /opt/meridian/launcher/target/meridian.jar
COPY meridian /opt/meridian/meridian
COPY config/meridian.example.yaml /etc/meridian/meridian.yaml
USER meridian
WORKDIR /var/lib/meridian
# DNS (UDP+TCP), proxy, DNS/proxy/checker ops, controller admin API. Bind 53 in the container as non-root by
# listening on 8053 and publishing -p 53:8053/udp -p 53:8053/tcp.
EXPOSE 8053/udp 8053/tcp 8080/tcp 9153/tcp 9180/tcp 9190/tcp 9090/tcp
ENV MERIDIAN_JAVA_OPTS="-XX:+UseParallelGC -XX:MaxRAMPercentage=75"
ENTRYPOINT ["/opt/meridian/meridian", "run"]
CMD ["--config", "/etc/meridian/meridian.yaml"]
