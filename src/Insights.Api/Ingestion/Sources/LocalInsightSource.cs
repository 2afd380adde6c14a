using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Insights.Tenancy;
using Microsoft.Win32.SafeHandles;

namespace Insights.Ingestion;

/// <summary>
/// Insight models from NDJSON files (<c>*.ndjson</c> in <c>Ingestion:Local:Folder</c>), one JSON object per line with
/// the columns of the BigQuery source table: <c>tenant_id, id, insight, module, key, filter, date_from, date_to,
/// payload, version, updated_at, deleted</c>.
/// </summary>
/// <remarks>
/// A row arrives with its file: a read by arrival takes every row of the files last written at or after its start,
/// whatever their updated_at (a file is written whole, or appended to, and re-reading a row changes nothing).
/// Each read scans the files once, keeping only the offset and sort key of the lines it wants, sorts them, then parses
/// each page's lines again from their offsets: memory stays small with large payloads, and no page re-scans the files.
/// </remarks>
public sealed class LocalInsightSource(string folder, ILogger<LocalInsightSource> logger) : IInsightSource
{
    private const int InitialBuffer = 1 << 20;

    /// <summary>The folder the files are read from.</summary>
    public string Folder => folder;

    /// <summary>
    /// An absolute folder as is; a relative one under the first of the content root, the current directory and the
    /// application's folder (or one of their parents) where it exists, so the repository's samples are found from a
    /// run at the repository root, a test host, or a published copy.
    /// </summary>
    public static string ResolveFolder(string configured, string? contentRoot)
    {
        if (Path.IsPathRooted(configured))
        {
            return configured;
        }

        string?[] starts = [contentRoot, Directory.GetCurrentDirectory(), AppContext.BaseDirectory];
        foreach (var start in starts.OfType<string>().Distinct(StringComparer.Ordinal))
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                var candidate = Path.Combine(directory.FullName, configured);
                if (Directory.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return Path.GetFullPath(Path.Combine(contentRoot ?? Directory.GetCurrentDirectory(), configured));
    }

    public async IAsyncEnumerable<SourcePage> ReadAsync(
        string tenantId, SourceCursor? after, int pageSize, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenantId);
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        await foreach (var rows in ReadEntriesAsync(
            (tenant, updatedAt, id) => string.Equals(tenant, tenantId, StringComparison.Ordinal) && (after is null || after.Precedes(updatedAt, id)),
            $"of tenant {tenantId} after the cursor", pageSize, cancellationToken))
        {
            yield return new SourcePage([.. rows.Select(r => r.Model)], 0, 0);
        }
    }

    /// <summary>Every tenant's models updated at or after <paramref name="since"/>, in one folder scan.</summary>
    public async IAsyncEnumerable<FleetPage> ReadFleetAsync(
        DateTimeOffset since, int pageSize, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        var from = SourceTime.Truncate(since);
        await foreach (var rows in ReadEntriesAsync((_, updatedAt, _) => updatedAt >= from, $"updated since {from:O}", pageSize, cancellationToken))
        {
            yield return new FleetPage(rows, 0, 0);
        }
    }

    /// <summary>The folder remembers every file: there is no limit to how far back a read by arrival goes.</summary>
    public TimeSpan? ArrivalWindow => null;

    /// <summary>
    /// Every row of the files last written at or after <paramref name="since"/> (a file's arrival), in one scan of
    /// those files, ordered by (arrival, tenant, id).
    /// </summary>
    public async IAsyncEnumerable<FleetPage> ReadFleetByArrivalAsync(
        DateTimeOffset since, int pageSize, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        var from = SourceTime.Truncate(since);
        await foreach (var rows in ReadEntriesAsync((_, _, _) => true, $"in files written since {from:O}", pageSize, cancellationToken, arrivedSince: from))
        {
            yield return new FleetPage(rows, 0, 0);
        }
    }

    /// <summary>
    /// The models whose (tenant, updatedAt, id) pass <paramref name="wanted"/>, ordered by (updatedAt, tenant, id), in
    /// pages; with <paramref name="arrivedSince"/>, only those of the files written since then, ordered by (file's
    /// arrival, tenant, id) and each with its arrival.
    /// </summary>
    private async IAsyncEnumerable<FleetRow[]> ReadEntriesAsync(
        Func<string, DateTimeOffset, string, bool> wanted, string what, int pageSize, [EnumeratorCancellation] CancellationToken cancellationToken,
        DateTimeOffset? arrivedSince = null)
    {
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"The folder of setting 'Ingestion:Local:Folder' does not exist: '{folder}'.");
        }

        var files = Directory.GetFiles(folder, "*.ndjson").Order(StringComparer.Ordinal).ToArray();
        DateTimeOffset[]? arrivals = null;
        if (arrivedSince is { } since)
        {
            // A file gone since the listing reports a time in 1601: it is left out.
            var written = files.Select(f => (File: f, At: SourceTime.Truncate(new DateTimeOffset(File.GetLastWriteTimeUtc(f), TimeSpan.Zero))))
                .Where(f => f.At >= since).ToArray();
            files = [.. written.Select(f => f.File)];
            arrivals = [.. written.Select(f => f.At)];
        }

        var entries = await Task.Run(() => Scan(files, arrivals, wanted, cancellationToken), cancellationToken);
        logger.LogDebug("Local source: {Count} models {What} in {Files} files", entries.Count, what, files.Length);

        var handles = new SafeFileHandle?[files.Length];
        var buffer = ArrayPool<byte>.Shared.Rent(InitialBuffer);
        try
        {
            for (var start = 0; start < entries.Count; start += pageSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var count = Math.Min(pageSize, entries.Count - start);
                var models = new FleetRow[count];
                for (var i = 0; i < count; i++)
                {
                    var entry = entries[start + i];
                    if (buffer.Length < entry.Length)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = ArrayPool<byte>.Shared.Rent(entry.Length);
                    }

                    var handle = handles[entry.File] ??= File.OpenHandle(files[entry.File], FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                    var line = buffer.AsSpan(0, entry.Length);
                    var read = RandomAccess.Read(handle, line, entry.Offset);
                    var row = read == entry.Length ? Parse(line, full: true, files[entry.File], entry.Line) : default;
                    if (!string.Equals(row.Id, entry.Id, StringComparison.Ordinal) || !string.Equals(row.TenantId, entry.TenantId, StringComparison.Ordinal))
                    {
                        throw new InvalidDataException($"{files[entry.File]}, line {entry.Line}: the file changed while it was being read.");
                    }

                    models[i] = new FleetRow(entry.TenantId, row.ToModel(), arrivals is null ? null : entry.Arrived);
                }

                yield return models;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            foreach (var handle in handles)
            {
                handle?.Dispose();
            }
        }
    }

    /// <summary>
    /// The wanted entries of every file, sorted. Files are scanned side by side, each with its own buffer; a failure is
    /// reported as a scan file by file would have met it first (the lowest file's).
    /// </summary>
    private static List<Entry> Scan(
        string[] files, DateTimeOffset[]? arrivals, Func<string, DateTimeOffset, string, bool> wanted, CancellationToken cancellationToken)
    {
        var perFile = new List<Entry>[files.Length];
        var failures = new ExceptionDispatchInfo?[files.Length];
        Parallel.For(
            0,
            files.Length,
            new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount },
            file =>
            {
                try
                {
                    perFile[file] = ScanFile(files, file, arrivals?[file] ?? default, wanted, cancellationToken);
                }
                catch (Exception e)
                {
                    failures[file] = ExceptionDispatchInfo.Capture(e);
                }
            });
        failures.FirstOrDefault(f => f is not null)?.Throw();

        var entries = new List<Entry>(perFile.Sum(f => f.Count));
        foreach (var part in perFile)
        {
            entries.AddRange(part);
        }

        entries.Sort();
        return entries;
    }

    private static List<Entry> ScanFile(
        string[] files, int file, DateTimeOffset arrived, Func<string, DateTimeOffset, string, bool> wanted, CancellationToken cancellationToken)
    {
        var entries = new List<Entry>();
        var buffer = ArrayPool<byte>.Shared.Rent(InitialBuffer);
        try
        {
            using var stream = new FileStream(files[file], FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0, FileOptions.SequentialScan);
            long bufferOffset = 0;
            var filled = 0;
            var lineNumber = 0;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (filled == buffer.Length)
                {
                    // A line longer than the buffer: grow it.
                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, filled).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = stream.Read(buffer, filled, buffer.Length - filled);
                filled += read;
                var consumed = 0;
                while (true)
                {
                    var newline = buffer.AsSpan(consumed, filled - consumed).IndexOf((byte)'\n');
                    if (newline < 0)
                    {
                        if (read > 0 || consumed == filled)
                        {
                            break;
                        }

                        newline = filled - consumed; // the last line has no newline
                    }

                    lineNumber++;
                    Index(buffer.AsSpan(consumed, newline), bufferOffset + consumed, lineNumber, file);
                    consumed += Math.Min(newline + 1, filled - consumed);
                }

                if (read == 0)
                {
                    break;
                }

                buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
                filled -= consumed;
                bufferOffset += consumed;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return entries;

        void Index(ReadOnlySpan<byte> line, long offset, int lineNumber, int file)
        {
            var length = line.Length;
            if (lineNumber == 1 && line.StartsWith("\uFEFF"u8))
            {
                line = line[3..];
                offset += 3;
                length -= 3;
            }

            if (line.IsEmpty || line.Trim(" \t\r"u8).IsEmpty)
            {
                return;
            }

            var row = Parse(line, full: false, files[file], lineNumber);
            if (wanted(row.TenantId!, row.UpdatedAt, row.Id!))
            {
                entries.Add(new Entry(arrived, row.UpdatedAt, row.TenantId!, row.Id!, file, offset, length, lineNumber));
            }
        }
    }

    /// <summary>Parses one line; <paramref name="full"/> also reads the optional columns and the payload.</summary>
    private static Row Parse(ReadOnlySpan<byte> line, bool full, string path, int lineNumber)
    {
        var row = new Row { PayloadJson = "{}" };
        string? column = null;
        try
        {
            var reader = new Utf8JsonReader(line);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new FormatException("the line is not a JSON object");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                column = Column(ref reader);
                reader.Read();
                switch (column)
                {
                    case "tenant_id":
                        row.TenantId = RequiredString(ref reader);
                        break;
                    case "id":
                        row.Id = RequiredString(ref reader);
                        break;
                    case "insight":
                        row.Insight = RequiredString(ref reader);
                        break;
                    case "module":
                        row.Module = RequiredString(ref reader);
                        break;
                    case "key":
                        row.Key = OptionalString(ref reader);
                        break;
                    case "filter":
                        row.Filter = OptionalString(ref reader);
                        break;
                    case "date_from":
                        row.DateFrom = Date(ref reader, full);
                        break;
                    case "date_to":
                        row.DateTo = Date(ref reader, full);
                        break;
                    case "version":
                        row.Version = reader.TokenType switch
                        {
                            JsonTokenType.Number when reader.TryGetInt64(out var number) => number,
                            JsonTokenType.String when long.TryParse(reader.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) => number,
                            _ => throw new FormatException("must be an integer"),
                        };
                        break;
                    case "updated_at":
                        row.UpdatedAt = UpdatedAt(ref reader);
                        row.HasUpdatedAt = true;
                        break;
                    case "deleted":
                        row.Deleted = reader.TokenType switch
                        {
                            JsonTokenType.True => true,
                            JsonTokenType.False or JsonTokenType.Null => false,
                            _ => throw new FormatException("must be true, false or null"),
                        };
                        break;
                    case "payload":
                        row.PayloadJson = Payload(ref reader, line, full);
                        break;
                    default:
                        reader.Skip();
                        break;
                }

                column = null;
            }

            column = null;
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                throw new FormatException("the line holds more than one JSON object");
            }
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            var where = column is null ? "" : $" column '{column}'";
            throw new InvalidDataException($"{path}, line {lineNumber}:{where} {e.Message}", e);
        }

        if (row.TenantId is null || row.Id is null || row.Insight is null || row.Module is null || row.Version is null || !row.HasUpdatedAt)
        {
            var missing = new[] { ("tenant_id", row.TenantId is null), ("id", row.Id is null), ("insight", row.Insight is null), ("module", row.Module is null),
                ("version", row.Version is null), ("updated_at", !row.HasUpdatedAt) }.Where(c => c.Item2).Select(c => c.Item1);
            throw new InvalidDataException($"{path}, line {lineNumber}: missing {string.Join(", ", missing)}.");
        }

        return row;

        string? OptionalString(ref Utf8JsonReader reader) => reader.TokenType switch
        {
            JsonTokenType.Null => null,
            JsonTokenType.String => full ? reader.GetString() : "",
            _ => throw new FormatException("must be a string or null"),
        };
    }

    private static readonly string[] Columns =
        ["tenant_id", "id", "insight", "module", "key", "filter", "date_from", "date_to", "payload", "version", "updated_at", "deleted"];

    private static readonly (byte[] Utf8, string Name)[] ColumnNames = [.. Columns.Select(c => (Encoding.UTF8.GetBytes(c), c))];

    // Compares the property name in place, in UTF-8: no string and no transcoding per property of every line.
    private static string? Column(ref Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped)
        {
            return EscapedColumn(ref reader);
        }

        var name = reader.ValueSpan;
        foreach (var (utf8, column) in ColumnNames)
        {
            if (name.SequenceEqual(utf8))
            {
                return column;
            }
        }

        return null;
    }

    /// <summary>A property name written with escapes (e.g. <c>"\u0069d"</c>), compared after unescaping.</summary>
    private static string? EscapedColumn(ref Utf8JsonReader reader)
    {
        foreach (var column in Columns)
        {
            if (reader.ValueTextEquals(column))
            {
                return column;
            }
        }

        return null;
    }

    private static string RequiredString(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw new FormatException("must be a string");

    /// <summary>
    /// A date <c>YYYY-MM-DD</c> or null; the scan (<paramref name="full"/> false) only checks the token.
    /// </summary>
    private static DateOnly? Date(ref Utf8JsonReader reader, bool full)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType == JsonTokenType.String && !full)
        {
            return null;
        }

        if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && IsoDate(reader.ValueSpan) is { } date)
        {
            return date;
        }

        return reader.TokenType == JsonTokenType.String
            && DateOnly.TryParseExact(reader.GetString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed)
            ? parsed
            : throw new FormatException("must be a date YYYY-MM-DD or null");
    }

    /// <summary><c>YYYY-MM-DD</c> read from UTF-8 digits; null when it is not exactly a valid one.</summary>
    private static DateOnly? IsoDate(ReadOnlySpan<byte> text)
    {
        if (text.Length != 10 || text[4] != (byte)'-' || text[7] != (byte)'-')
        {
            return null;
        }

        var year = 0;
        var month = 0;
        var day = 0;
        for (var i = 0; i < 10; i++)
        {
            if (i is 4 or 7)
            {
                continue;
            }

            var digit = text[i] - (byte)'0';
            if ((uint)digit > 9)
            {
                return null;
            }

            if (i < 4)
            {
                year = (year * 10) + digit;
            }
            else if (i < 7)
            {
                month = (month * 10) + digit;
            }
            else
            {
                day = (day * 10) + digit;
            }
        }

        return year >= 1 && month is >= 1 and <= 12 && day >= 1 && day <= DateTime.DaysInMonth(year, month) ? new DateOnly(year, month, day) : null;
    }

    /// <summary>
    /// An ISO 8601 timestamp. One ending in <c>Z</c> goes through the JSON reader's own parser; other forms (offsets,
    /// a space for the <c>T</c>, no zone = UTC) through the general one.
    /// </summary>
    private static DateTimeOffset UpdatedAt(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && reader.ValueSpan.EndsWith("Z"u8)
            && reader.TryGetDateTimeOffset(out var utc))
        {
            return SourceTime.Truncate(utc);
        }

        var text = RequiredString(ref reader);
        return text.Length >= 10 && char.IsAsciiDigit(text[0]) && text[4] == '-'
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            ? SourceTime.Truncate(at)
            : throw new FormatException($"must be an ISO 8601 timestamp; got '{text}'");
    }

    private static string Payload(ref Utf8JsonReader reader, ReadOnlySpan<byte> line, bool full)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject or JsonTokenType.StartArray:
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                return full ? Encoding.UTF8.GetString(line[start..(int)reader.BytesConsumed]) : "";
            case JsonTokenType.Null:
                return "{}";
            case JsonTokenType.String:
                // A string holding JSON, as some exports write a JSON column.
                var text = reader.GetString()!;
                try
                {
                    JsonDocument.Parse(text).Dispose();
                }
                catch (JsonException e)
                {
                    throw new FormatException($"is a string that does not hold JSON ({e.Message})", e);
                }

                return text;
            default:
                throw new FormatException("must be a JSON object, array, a string holding JSON, or null");
        }
    }

    private struct Row
    {
        public string? TenantId;
        public string? Id;
        public string? Insight;
        public string? Module;
        public string? Key;
        public string? Filter;
        public DateOnly? DateFrom;
        public DateOnly? DateTo;
        public string PayloadJson;
        public long? Version;
        public DateTimeOffset UpdatedAt;
        public bool HasUpdatedAt;
        public bool Deleted;

        public readonly SourceModel ToModel() =>
            new(Id!, Insight!, Module!, Key, Filter, DateFrom, DateTo, PayloadJson, Version!.Value, UpdatedAt, Deleted);
    }

    /// <summary>A wanted line; <see cref="Arrived"/> (its file's) is the same for every entry of a read by updated_at.</summary>
    private readonly record struct Entry(
        DateTimeOffset Arrived, DateTimeOffset UpdatedAt, string TenantId, string Id, int File, long Offset, int Length, int Line)
        : IComparable<Entry>
    {
        public int CompareTo(Entry other)
        {
            var order = Arrived.CompareTo(other.Arrived);
            if (order == 0)
            {
                order = UpdatedAt.CompareTo(other.UpdatedAt);
            }
            if (order == 0)
            {
                order = string.CompareOrdinal(TenantId, other.TenantId);
            }

            if (order == 0)
            {
                order = string.CompareOrdinal(Id, other.Id);
            }

            if (order == 0)
            {
                order = File.CompareTo(other.File);
            }

            return order == 0 ? Offset.CompareTo(other.Offset) : order;
        }
    }
}
