# One image for every Esper actor: `docker run IMAGE actor <name>` (the compose file runs one service per actor).
# BASE is replaceable, e.g. a Debian image with Node 20 built offline (deploy/README.md, "Offline image build").
ARG BASE=node:20-bookworm-slim
FROM ${BASE}

WORKDIR /opt/esper
ENV NODE_ENV=production

COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev && npm cache clean --force

COPY bin ./bin
COPY actors ./actors
COPY bus ./bus
COPY cli ./cli
COPY contracts ./contracts
COPY harness ./harness
COPY nn ./nn
COPY tsconfig.json ./

RUN groupadd --system esper \
  && useradd --system --gid esper --home-dir /opt/esper --shell /usr/sbin/nologin esper \
  && mkdir -p /var/lib/esper/runs \
  && chown -R esper:esper /var/lib/esper
USER esper

# The actor this container runs (set with the command, e.g. ESPER_ACTOR=tamiyo for `actor tamiyo`):
# healthy while its heartbeat on heartbeat.<actor> says running (`esper health`, exit 0). One check
# starts a Node process (about 2 s of CPU); on a loaded 2-core host it took up to 12 s, hence 30 s.
HEALTHCHECK --interval=15s --timeout=30s --start-period=60s --retries=3 \
  CMD node bin/esper.js health "$ESPER_ACTOR" --this-host --timeout 5000 || exit 1

ENTRYPOINT ["node", "bin/esper.js"]
CMD ["actor", "--help"]
