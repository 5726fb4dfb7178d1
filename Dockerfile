# A small static image of docket. Build: docker build -t docket .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /docket ./cmd/docket

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /docket /docket
VOLUME /data
EXPOSE 8000
ENTRYPOINT ["/docket", "serve", "--data", "/data", "--http", ":8000"]
