// Namespaces of the platform and of the shared kit (Auth, Database, Http, ServiceDefaults) that most files use.
global using System.Diagnostics;
global using System.Globalization;
global using System.Text;
global using System.Text.Json;
global using System.ComponentModel.DataAnnotations;
global using System.ComponentModel.DataAnnotations.Schema;
global using Microsoft.AspNetCore.Http.HttpResults;
global using Microsoft.Extensions.Options;
global using Npgsql;
global using NpgsqlTypes;
global using Insights.Auth;
global using Insights.Database;
global using Insights.Http;
global using Insights.ServiceDefaults;
