# The Realtime server image: build with the .NET SDK, run on the ASP.NET Core runtime.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /source
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/Realtime.Server/Realtime.Server.csproj src/Realtime.Server/
# ReadyToRun (the csproj) for the build platform's runtime: restore and publish name the same one.
RUN dotnet restore src/Realtime.Server/Realtime.Server.csproj --use-current-runtime
COPY src/ src/
RUN dotnet publish src/Realtime.Server/Realtime.Server.csproj -c Release -o /app --no-restore --use-current-runtime

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
ENV ASPNETCORE_URLS=http://0.0.0.0:8080
EXPOSE 8080
USER app
ENTRYPOINT ["dotnet", "Realtime.Server.dll"]
