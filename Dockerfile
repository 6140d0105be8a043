FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 FINOPS_STATE_DIR=/app/.finops
WORKDIR /app
COPY pyproject.toml README.md ./
COPY . .
RUN pip install --no-cache-dir -e .
EXPOSE 8000
CMD ["gunicorn", "finops.wsgi", "--bind", "0.0.0.0:8000"]
