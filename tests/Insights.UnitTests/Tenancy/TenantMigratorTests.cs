using Insights.Tenancy;

namespace Insights.UnitTests.Tenancy;

public sealed class TenantMigratorTests
{
    private static readonly TenantScript[] Scripts =
    [
        new("0001_one.sql", 1, "CREATE TABLE $schema$.one (id int);"),
        new("0002_two.sql", 2, "ALTER TABLE $schema$.one ADD COLUMN two int;"),
        new("0003_three.sql", 3, "CREATE TABLE $schema$.three (id int);"),
    ];

    [Fact]
    public void The_shipped_baseline_is_through_a_shipped_migration()
    {
        var migrator = new TenantMigrator();

        Assert.NotNull(migrator.Baseline);
        Assert.Contains(migrator.Baseline.Through, migrator.Scripts);
        Assert.DoesNotContain(migrator.Scripts, s => s.Name == "baseline.sql");
    }

    [Fact]
    public void A_new_schema_runs_the_baseline_and_then_only_the_migrations_after_it()
    {
        var baseline = TenantMigrator.ParseBaseline("-- baseline-through: 0002_two.sql\nCREATE TABLE $schema$.one (id int, two int);", Scripts);
        var migrator = new TenantMigrator(Scripts, baseline);

        Assert.Equal(Scripts[1], baseline.Through);
        Assert.Equal([baseline.Sql, Scripts[2].Sql], migrator.NewSchemaSql());
    }

    [Fact]
    public void Without_a_baseline_a_new_schema_runs_every_migration()
    {
        Assert.Equal(Scripts.Select(s => s.Sql), new TenantMigrator(Scripts).NewSchemaSql());
    }

    [Theory]
    [InlineData("CREATE TABLE $schema$.one (id int);")]
    [InlineData("-- The schema of 0002_two.sql\nCREATE TABLE $schema$.one (id int);")]
    [InlineData("\n-- baseline-through: 0002_two.sql\nCREATE TABLE $schema$.one (id int);")]
    public void A_baseline_without_its_marker_on_the_first_line_is_refused(string sql)
    {
        var e = Assert.Throws<InvalidOperationException>(() => TenantMigrator.ParseBaseline(sql, Scripts));
        Assert.Contains("baseline-through:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_baseline_through_an_unknown_migration_is_refused()
    {
        var e = Assert.Throws<InvalidOperationException>(() => TenantMigrator.ParseBaseline("-- baseline-through: 0004_four.sql\n", Scripts));
        Assert.Contains("0004_four.sql", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new TenantMigrator(Scripts[..1], TenantMigrator.ParseBaseline("-- baseline-through: 0002_two.sql\n", Scripts)));
    }
}
