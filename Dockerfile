# A small static image of docket (distroless, no shell). Build:
#   docker build -t docket .
# One node: docker run -p 8000:8000 -v docket-data:/data docket
# Three clustered nodes: docker-compose.yml. Every flag has a DOCKET_*
# environment variable (README, "Flags").
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /docket ./cmd/docket

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /docket /docket
VOLUME /data
# HTTP; NATS clients (with DOCKET_NATS_LISTEN); cluster routes.
EXPOSE 8000 4222 6222
ENTRYPOINT ["/docket", "serve", "--data", "/data", "--http", ":8000"]
