# The Realtime server image: build with the .NET SDK, run on the ASP.NET Core runtime.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /source
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/Realtime.Server/Realtime.Server.csproj src/Realtime.Server/
# Self-contained composite ReadyToRun (the csproj) for the build platform's runtime: restore and publish
# name the same one (restore fetches the runtime packs the composite image is compiled from).
RUN dotnet restore src/Realtime.Server/Realtime.Server.csproj --use-current-runtime
COPY src/ src/
RUN dotnet publish src/Realtime.Server/Realtime.Server.csproj -c Release -o /app --no-restore --use-current-runtime

# The app carries its own runtime (compiled together with it), so the base is runtime-deps, not aspnet.
FROM mcr.microsoft.com/dotnet/runtime-deps:10.0
WORKDIR /app
COPY --from=build /app .
ENV ASPNETCORE_URLS=http://0.0.0.0:8080
EXPOSE 8080
USER app
ENTRYPOINT ["./Realtime.Server"]
