FROM python:3.11-slim
WORKDIR /srv/insightgraph
COPY pyproject.toml README.md ./
COPY app ./app
COPY graph ./graph
COPY schema.graphql ./
RUN pip install --no-cache-dir .
ENV INSIGHTGRAPH_HOST=0.0.0.0 INSIGHTGRAPH_PORT=8000
EXPOSE 8000
CMD ["insightgraph", "serve"]
