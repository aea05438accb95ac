//! `funnel completions`, `funnel man`, `funnel config`.

use super::*;

/// `funnel completions`.
pub(super) fn completions(ctx: Ctx, command: Command) -> anyhow::Result<i32> {
    let Ctx { mut out, .. } = ctx;
    let Command::Completions { shell } = command else {
        unreachable!("execute routes only Completions here")
    };
    let mut cmd = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut cmd, "funnel", &mut out);
    Ok(0)
}

/// `funnel man`.
pub(super) fn man(ctx: Ctx, command: Command) -> anyhow::Result<i32> {
    let Ctx { mut out, .. } = ctx;
    let Command::Man = command else {
        unreachable!("execute routes only Man here")
    };
    let cmd = <Cli as clap::CommandFactory>::command();
    clap_mangen::Man::new(cmd).render(&mut out)?;
    Ok(0)
}

/// `funnel config`.
pub(super) fn config(ctx: Ctx, command: Command) -> anyhow::Result<i32> {
    let Ctx { out, path, .. } = ctx;
    let Command::Config { what } = command else {
        unreachable!("execute routes only Config here")
    };
    let files = app::config_files();
    if what == "path" {
        writeln!(out, "config   {}", files.config.display())?;
        writeln!(out, "keymap   {}", files.keymap.display())?;
        writeln!(out, "themes   {}", files.themes.display())?;
        writeln!(out, "rules    {}", files.rules.display())?;
        writeln!(out, "database {}", path.display())?;
    } else {
        let problems = app::config_problems();
        if problems.is_empty() {
            writeln!(out, "{}: ok", files.config.display())?;
        } else {
            for p in &problems {
                writeln!(out, "{p}")?;
            }
            return Ok(1);
        }
    }
    Ok(0)
}
