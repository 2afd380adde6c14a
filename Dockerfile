# syntax=docker/dockerfile:1

# ---- build ------------------------------------------------------------------------------------
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_NOLOGO=1 \
    DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
WORKDIR /src

# Restore first, from the build settings and project files only, so the package layer is reused
# until one of them changes. Only the host is restored: the image needs no test packages.
COPY Directory.Build.props Directory.Packages.props global.json ./
COPY src/Insights.Api/Insights.Api.csproj src/Insights.Api/
RUN dotnet restore src/Insights.Api/Insights.Api.csproj

# Then the rest (sources, appsettings.json, migrations; see .dockerignore).
COPY . .
RUN dotnet publish src/Insights.Api/Insights.Api.csproj -c Release -o /app --no-restore

# ---- runtime ----------------------------------------------------------------------------------
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
ENV ASPNETCORE_HTTP_PORTS=8080 \
    DOTNET_CLI_TELEMETRY_OPTOUT=1
WORKDIR /app
COPY --from=build /app ./

# The non-root 'app' user of the .NET images (numeric, so runAsNonRoot policies can verify it).
USER $APP_UID
EXPOSE 8080

# The aspnet image has no curl or wget: probe /health/live with bash's /dev/tcp instead.
# (A chiseled or distroless base has no bash either; drop this and let the orchestrator probe
# /health/live and /health/ready over HTTP.)
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /health/live HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]

ENTRYPOINT ["dotnet", "Insights.Api.dll"]
