FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY events events
COPY write_side write_side
COPY projections projections
COPY read_side read_side
COPY common common
COPY cli cli
RUN pip install --no-cache-dir . && useradd --system --uid 10001 tasktrail
USER tasktrail
ENV TASKTRAIL_LOG_JSON=true
EXPOSE 8000
ENTRYPOINT ["tasktrail"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
